"""The public disclosure site: a pure function from one database snapshot to a Material for MkDocs
site built with the root ``mkdocs.yml`` (issue 4). Until it lands, ``content/`` holds the prose pages."""
