"""Seed files: the templates, admin accounts and extensions a store should hold, declared in
TOML or JSON and applied idempotently in one transaction.

```toml
[[templates]]
name = "Sales"            # the key: created, or updated to exactly what is declared
title = "Sales"           # omitted settings take the template defaults

[[admins]]
name = "ci"
password = "secret"
access = "read_only"      # full | read_only

[[extensions]]
ext = "201"               # the bulk upload CSV's column names, with the CSV's meaning
fname = "Ada"
lname = "Lovelace"
email = "ada@example.com"
password = "web-pass"
phone_password = "sip-pass-201"
type = "sip"              # sip | virtual; default sip
template = "Sales"        # a template name; default "Default"
```

Extensions are loaded through the bulk upload pipeline, the code the API runs, so a seed can
hold nothing an upload would refuse. They go in with dupe_process 2 (replace): an existing
extension is rebuilt from its template and the declared row as if new, so after any number of
runs it is exactly what the seed says, and it keeps its account id. Update (3) would keep
stored values wherever the seed leaves a cell empty, so the result would depend on history.

Templates take their ids from the table's own key sequence: an explicit id inserted on
PostgreSQL would leave the sequence behind and break the next template created. A declared
`id` is therefore only a check that fails the seed when the template has another id.

seed/declaration.py reads and checks a file; seed/apply.py writes what it declares.
"""
