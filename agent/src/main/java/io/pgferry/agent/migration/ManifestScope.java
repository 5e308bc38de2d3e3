package io.pgferry.agent.migration;

import java.util.List;

/**
 * The scope of a migration as the schema archive recorded it ({@code state_dir/{m}/schema.manifest.json}): the
 * cutover steps work on exactly what was copied, on the source (which made it) and on the target (which received
 * it), without the client repeating the scope. They are given it by {@link ManifestScopes}.
 *
 * @param schemas schemas whose objects moved
 * @param tables the tables that moved (partitioned roots and ordinary tables)
 * @param excludedTables tables of those schemas left out
 * @param identityIndexes the indexes whose archive entry gives their table its replica identity (pg_dump writes
 *                        {@code REPLICA IDENTITY USING INDEX} with the index when it was set before the archive)
 */
public record ManifestScope(String database, List<String> schemas, List<TableRef> tables,
                            List<TableRef> excludedTables, List<IdentityIndex> identityIndexes) {
    /** An index of {@code table} named {@code index}. */
    public record IdentityIndex(TableRef table, String index) {
    }

    public ManifestScope {
        identityIndexes = identityIndexes == null ? List.of() : List.copyOf(identityIndexes);
    }

    public Scope scope() {
        return new Scope(schemas, List.of(), List.of(), excludedTables);
    }
}
