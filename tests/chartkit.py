"""The on-time charts (templates/barchart.svg.j2) as a reader sees them, for the report's
and the dashboard's tests: what each chart says, and, in a browser, how it is laid out."""

from __future__ import annotations

import re
from xml.etree import ElementTree

SVG_NS = "http://www.w3.org/2000/svg"
Chart = list[tuple[list[str], list[float], list[str]]]


def charts(html: str) -> dict[str, Chart]:
    """Per chart (its accessible name): each row's label lines, its bars' widths in % of
    the track, and the text after each bar ("83 % of 120")."""
    found: dict[str, Chart] = {}
    for part in re.findall(r"<svg .*?</svg>", html, re.S):
        svg = ElementTree.fromstring(part)  # well-formed: every text was escaped
        rows = found.setdefault(svg.attrib["aria-label"].removesuffix(" (continued)"), [])
        for row in svg.iter(f"{{{SVG_NS}}}g"):
            texts = list(row.iter(f"{{{SVG_NS}}}text"))
            label = next(t for t in texts if t.get("class") == "label")
            bars = [r for r in row.iter(f"{{{SVG_NS}}}rect") if "bar" in r.get("class", "")]
            rows.append(
                (
                    list(label.itertext()),
                    [float(b.attrib["width"].removesuffix("%")) for b in bars],
                    ["".join(t.itertext()) for t in texts if "value" in t.get("class", "")],
                )
            )
    return found


# In a browser: what is wrong with the charts' layout, as a list of sentences. Every text
# lies inside its chart's box, is at least 12 px high and overlaps no other text of the
# chart; each bar is as long, as a share of its track, as the share written after it.
LAYOUT = """() => {
  const wrong = [];
  for (const svg of document.querySelectorAll("svg.barchart")) {
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll("text")].map(t => [t, t.getBoundingClientRect()]);
    for (const [t, r] of texts) {
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5)
        wrong.push(`"${t.textContent}" sticks out of its chart (${r.left}-${r.right}`
                   + ` in ${box.left}-${box.right})`);
      if (parseFloat(getComputedStyle(t).fontSize) < 12)
        wrong.push(`"${t.textContent}" is smaller than 12 px`);
    }
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
      const [a, ra] = texts[i], [b, rb] = texts[j];
      const x = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const y = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (x > 1 && y > 1) wrong.push(`"${a.textContent}" overlaps "${b.textContent}"`);
    }
    for (const row of svg.querySelectorAll("g.row")) {
      const tracks = row.querySelectorAll("rect.track");
      const bars = row.querySelectorAll("rect.bar");
      const values = row.querySelectorAll("text.value:not(.none)");
      bars.forEach((bar, i) => {
        const track = tracks[i].getBoundingClientRect().width;
        const shown = 100 * bar.getBoundingClientRect().width / track;
        const said = parseFloat(values[i].textContent);
        if (Math.abs(shown - said) > 0.5 + 100 / track)
          wrong.push(`a bar of ${shown.toFixed(1)} % says "${values[i].textContent}"`);
      });
    }
  }
  return wrong;
}"""
