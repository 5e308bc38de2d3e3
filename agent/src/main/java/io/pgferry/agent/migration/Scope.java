package io.pgferry.agent.migration;

import io.pgferry.agent.problem.BadRequestException;
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
        includeTables = tables("include_tables", includeTables);
        excludeTables = tables("exclude_tables", excludeTables);
    }

    private static List<TableRef> tables(String field, List<TableRef> tables) {
        if (tables == null) {
            return List.of();
        }
        for (int i = 0; i < tables.size(); i++) {
            if (tables.get(i) == null) {
                throw new BadRequestException(field + "[" + i + "]", field + "[" + i + "] is null; list each table "
                        + "as {\"schema\": .., \"name\": ..}");
            }
        }
        return List.copyOf(tables);
    }
}
