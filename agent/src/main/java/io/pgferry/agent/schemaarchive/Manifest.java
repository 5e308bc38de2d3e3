package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import java.util.List;

/**
 * What travels beside the archive: the archive's hash, the scope, and every TOC entry's exact identity, so the
 * target can select entries by dump id and check each object's presence in its own catalogs.
 *
 * @param contentSha256 hash of the archive's restore script: equal for an unchanged schema (the archive's bytes
 *     differ on every run because pg_dump writes a timestamp into the header)
 * @param schemas the schemas dumped
 * @param tables the ordinary and partitioned root tables in scope
 * @param privileges owners, ACLs, default privileges, policy roles and database settings of the scope when the
 *     archive was made: the schema apply gives the restored objects these, in the same transaction
 */
public record Manifest(int format, String migration, String database, String createdAt, String serverVersion,
                       String pgDumpVersion, String archiveSha256, long archiveSizeBytes, String contentSha256,
                       List<String> schemas, List<TableRef> excludedTables, List<ExtensionRef> extensions,
                       List<TableRef> tables, List<TocEntry> entries, PrivilegeSet privileges) {
    /** 2: with privileges. */
    public static final int FORMAT = 2;

    public Manifest {
        schemas = List.copyOf(schemas == null ? List.of() : schemas);
        excludedTables = List.copyOf(excludedTables == null ? List.of() : excludedTables);
        extensions = List.copyOf(extensions == null ? List.of() : extensions);
        tables = List.copyOf(tables == null ? List.of() : tables);
        entries = List.copyOf(entries == null ? List.of() : entries);
    }

    public List<TocEntry> section(String section) {
        return entries.stream().filter(e -> section.equals(e.section())).toList();
    }
}
