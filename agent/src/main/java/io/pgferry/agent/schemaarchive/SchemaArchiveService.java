package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.DatabaseCheck;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopeResolver;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.postgres.PgTools;
import io.pgferry.agent.postgres.ServerVersion;
import io.pgferry.agent.privilegeset.PrivilegeCatalog;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/** Dumps the scope's schema with pg_dump and describes every entry of the archive in a manifest. */
public final class SchemaArchiveService {
    private static final Duration DUMP_TIMEOUT = Duration.ofHours(1);
    private static final Duration LIST_TIMEOUT = Duration.ofMinutes(10);
    private static final String EXTENSIONS = """
            SELECT e.extname, e.extversion, n.nspname
              FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
             WHERE e.extname <> 'plpgsql'
             ORDER BY 1""";

    private final PgConnector connector;
    private final PgToolsCache pgTools;
    private final PgProcess process;
    private final Path stateDir;
    private final Optional<ArchiveKey> key;

    public SchemaArchiveService(PgConnector connector, PgToolsCache pgTools, PgProcess process, Path stateDir,
                                Optional<ArchiveKey> key) {
        this.connector = connector;
        this.pgTools = pgTools;
        this.process = process;
        this.stateDir = stateDir;
        this.key = key;
    }

    /**
     * Dumps the schema and keeps the new archive only if its content differs from the stored one (with {@code check},
     * only says whether it would: the dump is compared and dropped). Synchronized: two dumps of one migration at once
     * would race for the same files.
     */
    public synchronized ArchiveResult archive(MigrationId migration, ArchiveRequest request) {
        ArchiveKey signer = ArchiveKey.require(key);
        String database = DatabaseCheck.require(connector, request.database());
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        // A check of a migration this agent has no state of leaves none: not even the directory its dump passed by.
        Path fresh = request.checkOnly() && !Files.exists(stateDir.resolve(migration.value()))
                ? stateDir.resolve(migration.value()) : null;
        try (Connection c = connector.open(database, Duration.ofMinutes(10), true)) {
            ServerVersion version = connector.serverVersion(c);
            ResolvedScope scope = ScopeResolver.resolve(c, request.scope());
            if (scope.schemas().isEmpty()) {
                throw ApiException.unprocessable("empty_scope", "no schema of database " + database
                        + " is in scope; check include_schemas and exclude_schemas", List.of());
            }
            List<ExtensionRef> extensions = extensions(c);
            if (!request.checkOnly()) {
                SchemaFingerprint.storeIfAbsent(stateDir, migration,
                        () -> SchemaFingerprint.compute(c, scope.schemas(), scope.excludedTables()));
            }
            PgTools tools = Tools.forServer(pgTools, version.major());
            Path tmp = files.temp(ArchiveFiles.DUMP);
            try {
                List<String> args = dumpArgs(scope, extensions, tmp);
                Tools.check("pg_dump", process.run(tools.binDir().resolve("pg_dump"), args, database, true,
                        DUMP_TIMEOUT));
                List<String> queries = List.of("pg_dump " + String.join(" ", args.subList(0, args.size() - 2)));
                PrivilegeSet privileges = PrivilegeCatalog.read(c, version.major(), scope.schemas(),
                        scope.excludedTables());
                String content = contentSha256(tools, files, tmp, database, privileges);
                Optional<Manifest> old = files.manifest();
                if (old.isPresent() && old.get().contentSha256().equals(content)
                        && files.dumpSha256().equals(Optional.of(old.get().archiveSha256()))
                        && files.signedWith(signer)) {
                    return new ArchiveResult(false, queries, ArchiveInfo.of(old.get()));
                }
                if (request.checkOnly()) {
                    return new ArchiveResult(true, queries, old.map(ArchiveInfo::of).orElse(null));
                }
                String sha = ArchiveFiles.sha256(tmp);
                // pgferry's own copy policies (replicationrole.CopyAccess) are not the application's schema:
                // restored on the target they would name a role that does not exist there.
                List<TocEntry> entries = new ManifestBuilder(c).build(list(tools, files, tmp, TocEntry.PRE_DATA),
                        list(tools, files, tmp, TocEntry.POST_DATA)).stream()
                        .filter(e -> !("policy".equals(e.type()) && migration.objectName().equals(e.name())))
                        .toList();
                Manifest manifest = new Manifest(Manifest.FORMAT, migration.value(), database,
                        Instant.now().toString(), version.version(), tools.pgDumpVersion(), sha, Files.size(tmp),
                        content, scope.schemas(), scope.excludedTables(), extensions, scope.tableRefs(), entries,
                        privileges);
                files.storeDump(tmp, sha);
                files.storeManifest(manifest, signer);
                return new ArchiveResult(true, queries, ArchiveInfo.of(manifest));
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the schema archive of " + migration, e);
        } finally {
            if (fresh != null) {
                try {
                    Files.deleteIfExists(fresh);
                } catch (IOException ignored) {
                    // not empty: something else wrote there meanwhile, and it stays
                }
            }
        }
    }

    /**
     * Every pattern is fully double-quoted: inside double quotes pg_dump takes {@code * ? . $} and capitals
     * literally, so a schema named {@code a.*} selects exactly that schema. Ownership and privileges are left
     * out of the archive: pg_restore could only restore them under the source's role names, and a role map
     * (consolidation) renames roles. They travel in the manifest instead, read from the catalogs, and the target
     * applies them through the role map (privilegeset.PrivilegePlanner). UTF8, because the target runs the pre-data
     * as a script through its JDBC session, which speaks UTF-8 only; the server converts to the database's encoding.
     */
    static List<String> dumpArgs(ResolvedScope scope, List<ExtensionRef> extensions, Path file) {
        List<String> args = new ArrayList<>(List.of("--format=custom", "--schema-only", "--no-publications",
                "--no-subscriptions", "--no-owner", "--no-privileges", "--strict-names", "--encoding=UTF8"));
        scope.schemas().forEach(s -> args.addAll(List.of("--schema", Sql.ident(s))));
        for (TableRef t : scope.excludedTables()) {
            args.addAll(List.of("--exclude-table", t.quoted()));
        }
        extensions.forEach(e -> args.addAll(List.of("--extension", Sql.ident(e.name()))));
        args.addAll(List.of("--file", file.toString()));
        return args;
    }

    /**
     * The hash of the archive's restore script and of the scope's privileges: the archive's own bytes carry a
     * timestamp and so differ on every run. The {@code \restrict} lines hold a random key per run and are left out.
     */
    private String contentSha256(PgTools tools, ArchiveFiles files, Path archive, String database,
                                 PrivilegeSet privileges) throws IOException {
        var md = ArchiveFiles.sha256();
        md.update((database + "\n").getBytes(StandardCharsets.UTF_8));
        // Line by line, as the script's lines joined by \n: the script of thousands of tables is never held whole.
        pgRestore(tools, files, List.of("--file=-", archive.toString()), script -> {
            boolean first = true;
            for (String line = script.readLine(); line != null; line = script.readLine()) {
                if (line.startsWith("\\restrict") || line.startsWith("\\unrestrict")) {
                    continue;
                }
                md.update((first ? line : "\n" + line).getBytes(StandardCharsets.UTF_8));
                first = false;
            }
            return null;
        });
        try (OutputStream digest = new DigestOutputStream(OutputStream.nullOutputStream(), md)) {
            Json.MAPPER.writeValue(digest, privileges);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private List<TocLine> list(PgTools tools, ArchiveFiles files, Path archive, String section) throws IOException {
        return pgRestore(tools, files, List.of("--list", "--section=" + section, archive.toString()), TocLine::parse);
    }

    private interface OutputReader<T> {
        T read(BufferedReader stdout) throws IOException;
    }

    /** pg_restore without a server, its output read as a stream from a temporary file. */
    private <T> T pgRestore(PgTools tools, ArchiveFiles files, List<String> args, OutputReader<T> reader)
            throws IOException {
        Path out = files.temp("pg-restore-out");
        try {
            Tools.check("pg_restore", process.runToFile(tools.binDir().resolve("pg_restore"), args, null, false,
                    LIST_TIMEOUT, out));
            try (BufferedReader r = Files.newBufferedReader(out, StandardCharsets.UTF_8)) {
                return reader.read(r);
            }
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static List<ExtensionRef> extensions(Connection c) throws SQLException {
        List<ExtensionRef> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(EXTENSIONS); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(new ExtensionRef(rs.getString(1), rs.getString(2), rs.getString(3)));
            }
        }
        return out;
    }
}
