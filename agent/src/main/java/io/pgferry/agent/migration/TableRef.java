package io.pgferry.agent.migration;

import io.pgferry.agent.sql.Sql;

/** A table named by its schema and name as two fields: a dotted string would be ambiguous. */
public record TableRef(String schema, String name) implements Comparable<TableRef> {
    public TableRef {
        Names.require("schema", schema);
        Names.require("name", name);
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
