"""Lookups the ORM lacks on both databases of the hub (PostgreSQL, and SQLite for the embedded default)."""

from django.db.models import JSONField, Lookup


@JSONField.register_lookup
class HasElement(Lookup):
    """`field__has_element=value`: the JSON array in `field` holds the string `value`. Django's `contains`
    says the same on PostgreSQL only."""

    lookup_name = "has_element"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        sql = f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = {rhs})"  # noqa: S608 (placeholders)
        return sql, [*lhs_params, *rhs_params]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} @> jsonb_build_array(({rhs})::text)", [*lhs_params, *rhs_params]
