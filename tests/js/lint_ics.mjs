// Read .ics files with Mozilla's ical.js the way a calendar client does, and report
// every error as JSON {file: [message, …]} for tests/icscheck.py (an empty list: clean).
//   node tests/js/lint_ics.mjs FILE.ics…
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const report = {};
for (const file of process.argv.slice(2)) {
  const errors = [];
  try {
    const calendar = new ICAL.Component(ICAL.parse(readFileSync(file, "utf8")));
    if (calendar.name !== "vcalendar") errors.push(`top component is ${calendar.name}`);
    for (const name of ["version", "prodid"]) {
      if (!calendar.hasProperty(name)) errors.push(`VCALENDAR has no ${name.toUpperCase()}`);
    }
    for (const vevent of calendar.getAllSubcomponents("vevent")) {
      const event = new ICAL.Event(vevent);
      const where = `VEVENT ${event.uid}`;
      for (const name of ["uid", "dtstamp", "dtstart"]) {
        if (!vevent.hasProperty(name)) errors.push(`${where} has no ${name.toUpperCase()}`);
      }
      // every value is decoded, as a client does when it shows the event
      for (const prop of vevent.getAllProperties()) prop.getValues();
      if (event.endDate.compare(event.startDate) < 0) errors.push(`${where} ends before it starts`);
      for (const alarm of vevent.getAllSubcomponents("valarm")) {
        const trigger = alarm.getFirstPropertyValue("trigger");
        if (!alarm.hasProperty("action")) errors.push(`${where}: VALARM has no ACTION`);
        if (trigger === null) errors.push(`${where}: VALARM has no TRIGGER`);
        for (const prop of alarm.getAllProperties()) prop.getValues();
      }
    }
  } catch (error) {
    errors.push(String(error));
  }
  report[file] = errors;
}
console.log(JSON.stringify(report));
