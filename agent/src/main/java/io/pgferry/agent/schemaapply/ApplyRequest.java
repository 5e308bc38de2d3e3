package io.pgferry.agent.schemaapply;

import io.pgferry.agent.migration.Names;

/** Body of {@code POST /v1/migrations/{m}/schema-apply}. */
/** @param check absent means false */
public record ApplyRequest(String database, Boolean check) {
    public ApplyRequest {
        check = check != null && check;
        Names.require("database", database);
    }
}
