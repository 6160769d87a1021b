"""`sopgen build`: the SOP library compiled into controlled documents.

    cli.py        the `sopgen build` command: options, progress, messages, exit code
    stamp.py      recognises a build whose inputs have not changed, without parsing
    digest.py     the one digest of everything that shapes the output (code, templates,
                  schema, config, options), used by both the stamp and the manifest
    documents.py  which documents changed, rendering them (PDFs in a process pool),
                  atomic writes, the manifest of content hashes

The stages before (load, validate, model) are the core modules beside this
package; rendering is `sopgen.render`. Importing this package costs nothing:
the command imports the heavy stages only when there is work to do.
"""
