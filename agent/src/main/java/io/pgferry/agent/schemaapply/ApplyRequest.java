package io.pgferry.agent.schemaapply;

import io.pgferry.agent.migration.Names;

/**
 * Body of {@code POST /v1/migrations/{m}/schema-apply}.
 *
 * @param check absent means false
 * @param keys absent means true: primary keys and replica-identity indexes go in with the schema, before native
 *             table sync copies into them; false leaves them to pgferry's own copy, which builds them after each
 *             table's rows (faster than maintaining them row by row)
 */
public record ApplyRequest(String database, Boolean check, Boolean keys) {
    public ApplyRequest {
        check = check != null && check;
        keys = keys == null || keys;
        Names.require("database", database);
    }
}
