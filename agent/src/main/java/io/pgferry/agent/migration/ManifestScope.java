package io.pgferry.agent.migration;

import io.pgferry.agent.schemaarchive.ArchiveFiles;
import io.pgferry.agent.schemaarchive.Manifest;
import java.nio.file.Path;
import java.util.List;

/**
 * The scope of a migration as the schema archive recorded it ({@code state_dir/{m}/schema.manifest.json}): the
 * cutover steps work on exactly what was copied, on the source (which made it) and on the target (which received
 * it), without the client repeating the scope.
 *
 * @param schemas schemas whose objects moved
 * @param tables the tables that moved (partitioned roots and ordinary tables)
 * @param excludedTables tables of those schemas left out
 */
public record ManifestScope(String database, List<String> schemas, List<TableRef> tables,
                            List<TableRef> excludedTables) {

    /** @throws io.pgferry.agent.http.ApiException 404 {@code archive_not_found} */
    public static ManifestScope read(Path stateDir, MigrationId migration) {
        Manifest m = new ArchiveFiles(stateDir, migration).requireManifest();
        return new ManifestScope(m.database(), m.schemas(), m.tables(), m.excludedTables());
    }

    public Scope scope() {
        return new Scope(schemas, List.of(), List.of(), excludedTables);
    }
}
