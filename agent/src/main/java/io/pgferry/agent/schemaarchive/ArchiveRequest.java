package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/schema-archive}: the source database and the scope to dump; {@code check}:
 * only whether the archive would change (dumped and compared, nothing stored).
 */
public record ArchiveRequest(String database, List<String> includeSchemas, List<String> excludeSchemas,
                             List<TableRef> includeTables, List<TableRef> excludeTables, Boolean check) {
    public ArchiveRequest {
        Names.require("database", database);
    }

    public boolean checkOnly() {
        return Boolean.TRUE.equals(check);
    }

    public Scope scope() {
        return new Scope(includeSchemas, excludeSchemas, includeTables, excludeTables);
    }
}
