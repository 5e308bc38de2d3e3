package io.pgferry.agent.replicaidentity;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ReplicaIdentityChanges.Identity;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.migration.ReplicatedRelations;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.TableIdentity;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The target's replica identities made the source's: where the source identifies a table's rows by an index (or by
 * the whole row), the target must too - its apply worker finds the rows of an UPDATE or DELETE by that identity, and
 * once a reverse stream publishes the table there, PostgreSQL rejects UPDATE and DELETE on a table without one. The
 * schema archive carries the identities set before it; this step sets those set since (and, after an abandoned
 * migration put the target's back, again). Each change is recorded with what it replaced, for cleanup.
 */
public final class ReplicaIdentityService {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final String HAS_INDEX = """
            SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = ? AND t.relname = ? AND ic.relname = ?""";

    /** @param changedTables the tables whose identity this call set (or, in check mode, would set) */
    public record Mirrored(List<TableRef> changedTables) {
    }

    private final PgConnector connector;
    private final Path stateDir;
    private final ManifestScopes scopes;

    public ReplicaIdentityService(PgConnector connector, Path stateDir, ManifestScopes scopes) {
        this.connector = connector;
        this.stateDir = stateDir;
        this.scopes = scopes;
    }

    public StepResult<Mirrored> apply(MigrationId migration, ReplicaIdentityRequest request) {
        ManifestScope scope = scopes.read(migration);
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Plan plan = new Plan();
            List<ReplicaIdentityChanges.Change> changes = plan(c, scope.tables(), request.replicaIdentities(), plan,
                    false, scope.identityIndexes());
            if (!request.check()) {
                new ReplicaIdentityChanges(stateDir, migration).record(changes);
                plan.runInTransaction(c);
            }
            return plan.result(request.check(), new Mirrored(changes.stream().map(ReplicaIdentityChanges.Change::table)
                    .toList()));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * Adds to {@code plan} the ALTER TABLEs that give each relation of {@code tables} (partitions included) the
     * identity in {@code wanted} where it differs, and returns them as changes to record. With {@code refuseMissing}, a
     * table left with no usable identity is refused (422 {@code table_without_replica_identity}) before anything runs.
     */
    public static List<ReplicaIdentityChanges.Change> plan(Connection c, List<TableRef> tables,
                                                           List<TableIdentity> wanted, Plan plan,
                                                           boolean refuseMissing) throws SQLException {
        return plan(c, tables, wanted, plan, refuseMissing, List.of());
    }

    /**
     * As above; an identity whose index is missing but in {@code builtWithIdentity} is left to whatever builds that
     * index from the archive (pgferry's own copy, after the rows): its entry sets the identity with it.
     */
    static List<ReplicaIdentityChanges.Change> plan(Connection c, List<TableRef> tables, List<TableIdentity> wanted,
                                                    Plan plan, boolean refuseMissing,
                                                    List<ManifestScope.IdentityIndex> builtWithIdentity)
            throws SQLException {
        Map<TableRef, Identity> bySource = new HashMap<>();
        wanted.forEach(t -> bySource.put(t.table(), Identity.parse(t.identity())));
        List<ReplicaIdentityChanges.Change> changes = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        List<String> noIndex = new ArrayList<>();
        for (ReplicatedRelations.Relation r : ReplicatedRelations.read(c, tables)) {
            Identity source = bySource.get(r.table());
            Optional<Identity> now = ReplicaIdentityChanges.current(c, r.table());
            if (source != null && now.isPresent() && !now.get().equals(source) && r.kind() != 'f') {
                if (source.kind() == 'i' && !hasIndex(c, r.table(), source.index())) {
                    if (!builtWithIdentity.contains(new ManifestScope.IdentityIndex(r.table(), source.index()))) {
                        noIndex.add(r.describe() + " USING INDEX " + Sql.ident(source.index()));
                    }
                    continue;
                }
                plan.add("ALTER TABLE " + r.table().quoted() + " REPLICA IDENTITY " + source.clause());
                changes.add(new ReplicaIdentityChanges.Change(r.table().schema(), r.table().name(),
                        now.get().toString(), source.toString()));
            } else if (refuseMissing && source == null && r.kind() == 'r' && !r.hasReplicaIdentity()) {
                missing.add(r.describe());
            }
        }
        if (!noIndex.isEmpty()) {
            // The archive carries an identity's index as a key only when the identity was set before it was made.
            throw ApiException.unprocessable("replica_identity_index_missing", "the source identifies these tables' "
                    + "rows by an index the target does not have yet: " + String.join(", ", noIndex) + "; make the "
                    + "schema archive again after the publication step and apply it (schema_archive, then "
                    + "schema_apply restores the missing identity indexes), then rerun this step", noIndex);
        }
        if (!missing.isEmpty()) {
            throw ApiException.unprocessable("table_without_replica_identity", "these tables have no primary key or "
                    + "replica identity on the target, so once the reverse stream publishes them PostgreSQL would "
                    + "reject UPDATE and DELETE there: " + String.join(", ", missing) + "; give them the source's "
                    + "replica identity (the cutover passes the source's ready check answer as replica_identities) or "
                    + "a primary key", missing);
        }
        return changes;
    }

    private static boolean hasIndex(Connection c, TableRef table, String index) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(HAS_INDEX)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            ps.setString(3, index);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }
}
