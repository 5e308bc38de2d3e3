package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import java.util.List;

/** Body of {@code POST /v1/migrations/{m}/schema-archive}: the source database and the scope to dump. */
public record ArchiveRequest(String database, List<String> includeSchemas, List<String> excludeSchemas,
                             List<TableRef> includeTables, List<TableRef> excludeTables) {
    public ArchiveRequest {
        Names.require("database", database);
    }

    public Scope scope() {
        return new Scope(includeSchemas, excludeSchemas, includeTables, excludeTables);
    }
}
