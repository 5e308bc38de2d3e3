package io.pgferry.agent.migration;

import io.pgferry.agent.json.Shared;
import io.pgferry.agent.sql.Sql;

/** A table named by its schema and name as two fields: a dotted string would be ambiguous. */
public record TableRef(String schema, String name) implements Comparable<TableRef> {
    public TableRef {
        schema = Shared.of(Names.require("schema", schema));
        name = Shared.of(Names.require("name", name));
    }

    public String quoted() {
        return Sql.qualified(schema, name);
    }

    @Override
    public int compareTo(TableRef o) {
        int c = schema.compareTo(o.schema);
        return c != 0 ? c : name.compareTo(o.name);
    }

    @Override
    public String toString() {
        return quoted();
    }
}
