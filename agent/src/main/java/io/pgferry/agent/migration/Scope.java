package io.pgferry.agent.migration;

import java.util.List;

/**
 * Which part of a database a migration moves. Empty lists mean no restriction: every non-system schema, every
 * table in it.
 */
public record Scope(List<String> includeSchemas, List<String> excludeSchemas, List<TableRef> includeTables,
                    List<TableRef> excludeTables) {
    public static final Scope ALL = new Scope(List.of(), List.of(), List.of(), List.of());

    public Scope {
        includeSchemas = Names.requireAll("include_schemas", includeSchemas);
        excludeSchemas = Names.requireAll("exclude_schemas", excludeSchemas);
        includeTables = includeTables == null ? List.of() : List.copyOf(includeTables);
        excludeTables = excludeTables == null ? List.of() : List.copyOf(excludeTables);
    }
}
