package io.pgferry.agent.readycheck;

import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.OtherMigrations;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.migration.ReplicatedRelations;
import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.ScopeResolver;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableIdentity;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.replicationrole.AgentRights;
import io.pgferry.agent.schemaarchive.SchemaFingerprint;
import io.pgferry.agent.sequences.SequenceValue;
import io.pgferry.agent.sequences.SequencesService;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.syncstatus.SubscriptionStats;
import io.pgferry.agent.syncstatus.SyncStatus;
import io.pgferry.agent.syncstatus.SyncStatusService;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Whether a cutover may start: refuses with the reason, or answers what the other side needs to check. */
public final class ReadyCheckService {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final String SLOT = """
            SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
            FROM pg_replication_slots WHERE slot_name = ? AND database = current_database()""";

    /**
     * @param lagBytes source: WAL the subscriber has not confirmed
     * @param lagSeconds target: the apply worker's lag
     * @param sequences source: the sequences of the scope, for the target's check
     * @param replicaIdentities source: the tables (and partitions) whose replica identity is full or an index, for
     *                          the reverse stream's publication on the target
     */
    public record Ready(String side, boolean ready, String schemaSha256, Long lagBytes, Double lagSeconds,
                        Integer tables, List<TableRef> sequences, List<TableIdentity> replicaIdentities) {
    }

    private final PgConnector connector;
    private final SyncStatusService syncStatus;
    private final Path stateDir;
    private final ManifestScopes scopes;

    public ReadyCheckService(PgConnector connector, SyncStatusService syncStatus, Path stateDir,
                             ManifestScopes scopes) {
        this.connector = connector;
        this.syncStatus = syncStatus;
        this.stateDir = stateDir;
        this.scopes = scopes;
    }

    public Ready check(MigrationId migration, ReadyCheckRequest request) {
        return request.side().equals("source") ? source(migration, request) : target(migration, request);
    }

    private Ready source(MigrationId migration, ReadyCheckRequest request) {
        ManifestScope scope = scopes.read(migration);
        SchemaFingerprint stored = SchemaFingerprint.load(stateDir, migration).orElseThrow(() ->
                ApiException.notFound("fingerprint_not_found", "no schema fingerprint for migration " + migration
                        + " on this agent: it is taken with the schema archive (POST schema-archive)"));
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true)) {
            List<TableRef> excluded = new ArrayList<>(scope.excludedTables());
            if (request.scope() != null) {
                ResolvedScope resolved = ScopeResolver.resolve(c, request.scope());
                refuseNewInScope(scope, resolved);
                // Tables the rule leaves out now (created since, outside an include list) are not drift.
                excluded.addAll(resolved.excludedTables());
            }
            List<String> others = OtherMigrations.publishing(c, migration);
            if (!others.isEmpty()) {
                // The fence would stop the other migration's writes too, and clients would leave its tables behind.
                throw ApiException.unprocessable(OtherMigrations.CODE, OtherMigrations.sourceProblem(
                        request.database(), others) + "; nothing was paused. Fix: " + OtherMigrations.SOURCE_FIX,
                        others);
            }
            if (request.reverseReplication()) {
                List<String> lacking = AgentRights.cannotSubscribe(c, connector.serverVersion(c).major(),
                        request.database());
                if (!lacking.isEmpty()) {
                    throw ApiException.unprocessable("agent_lacks_rights", "the reverse stream would fail inside the "
                            + "pause: the source agent's role may not create its subscription here: "
                            + String.join("; ", lacking) + ". Fix: " + AgentRights.SUBSCRIBE_FIX + "; or cut over "
                            + "without a reverse stream (pgferry_cutover_reverse_replication: false)", lacking);
                }
            }
            SchemaFingerprint now = SchemaFingerprint.compute(c, scope.schemas(), excluded);
            List<String> drift = stored.differences(now);
            if (!drift.isEmpty()) {
                throw ApiException.unprocessable("schema_drift", "the source schema changed since it was copied "
                        + "to the target: " + String.join("; ", drift) + ". Apply the same DDL on the target (and "
                        + "check the publication), then remove " + SchemaFingerprint.FILE + " from this agent's "
                        + "state directory for the migration to accept the new schema", drift);
            }
            long lag;
            try (PreparedStatement ps = c.prepareStatement(SLOT)) {
                ps.setString(1, migration.objectName());
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw ApiException.unprocessable("slot_missing", "database " + request.database()
                                + " has no replication slot " + migration.objectName() + ": the subscription is "
                                + "gone or was never made", List.of(migration.objectName()));
                    }
                    lag = rs.getLong(2);
                }
            }
            if (lag > request.maxLagBytes()) {
                throw ApiException.unprocessable("lag_too_high", "the subscriber is " + lag + " bytes behind "
                        + "(limit " + request.maxLagBytes() + "); wait and retry", List.of(migration.objectName()));
            }
            List<TableRef> sequences = new ArrayList<>();
            for (SequenceValue s : SequencesService.read(c, scope)) {
                sequences.add(new TableRef(s.schema(), s.name()));
            }
            return new Ready("source", true, now.sha256(), lag, null, scope.tables().size(), sequences,
                    identities(c, scope.tables()));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private Ready target(MigrationId migration, ReadyCheckRequest request) {
        SyncStatus status = syncStatus.status(migration, request.database());
        refuseConflicts(migration, request.database());
        List<String> notReady = status.tables().stream().filter(t -> !t.state().equals("r"))
                .map(t -> new TableRef(t.schema(), t.name()).quoted() + " (" + t.stateName() + ")").toList();
        if (!status.allReady()) {
            throw ApiException.unprocessable("tables_not_ready", "tables are still being copied: "
                    + String.join(", ", notReady), notReady);
        }
        Double lag = status.subscription().lagSeconds();
        if (status.subscription().pid() == null) {
            throw ApiException.unprocessable("subscription_not_streaming", "the subscription's apply worker is not "
                    + "running (subscription disabled, or failing: see the target's server log)",
                    List.of(migration.objectName()));
        }
        if (request.maxLagSeconds() != null && lag != null && lag > request.maxLagSeconds()) {
            throw ApiException.unprocessable("lag_too_high", "the apply worker lags " + lag + " s (limit "
                    + request.maxLagSeconds() + " s); wait and retry", List.of(migration.objectName()));
        }
        List<String> missing = new ArrayList<>();
        // One query for every sequence: a scope of thousands of tables has as many.
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, true);
             PreparedStatement ps = c.prepareStatement("SELECT q FROM unnest(?::text[]) WITH ORDINALITY AS u(q, ord) "
                     + "WHERE NOT EXISTS (SELECT 1 FROM pg_sequence WHERE seqrelid = to_regclass(q)) ORDER BY ord")) {
            ps.setArray(1, c.createArrayOf("text", request.sequences().stream().map(TableRef::quoted).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    missing.add(rs.getString(1));
                }
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
        if (!missing.isEmpty()) {
            throw ApiException.unprocessable("sequences_missing", "sequences of the source are missing on the "
                    + "target: " + String.join(", ", missing), missing);
        }
        return new Ready("target", true, null, null, lag, status.total(), request.sequences(), null);
    }

    /**
     * The scope as the user defined it (a rule: every schema but X, or a list), resolved now, against what the
     * schema archive moved: a schema or table created since that falls under the rule was never copied, and a
     * cutover would leave it and its rows behind on the old source.
     */
    private static void refuseNewInScope(ManifestScope archived, ResolvedScope now) {
        Set<TableRef> moved = new HashSet<>(archived.tables());
        Set<String> added = new LinkedHashSet<>();
        for (String s : now.schemas()) {
            if (!archived.schemas().contains(s)) {
                added.add("schema " + Sql.ident(s));
            }
        }
        for (TableRef t : now.tableRefs()) {
            if (!moved.contains(t)) {
                added.add("table " + t.quoted());
            }
        }
        if (!added.isEmpty()) {
            throw ApiException.unprocessable("scope_drift", "the scope now selects what the migration did not copy "
                    + "(created after the schema archive): " + String.join(", ", added) + "; a cutover would leave "
                    + "it on the old source. Leave it out (exclude_schemas, exclude_tables), or start the migration "
                    + "over so it is copied (pgferry.migrate.cleanup with pgferry_cleanup_abandon, then "
                    + "pgferry.migrate.migrate)", List.copyOf(added));
        }
    }

    /** Every relation of the scope (partitions too: identity is per relation) with a full or index identity. */
    private static List<TableIdentity> identities(Connection c, List<TableRef> tables) throws SQLException {
        List<TableIdentity> out = new ArrayList<>();
        for (ReplicatedRelations.Relation r : ReplicatedRelations.read(c, tables)) {
            if (r.replicaIdentity() == 'f' || r.replicaIdentity() == 'i') {
                ReplicaIdentityChanges.current(c, r.table())
                        .filter(id -> id.kind() == 'f' || id.index() != null)
                        .ifPresent(id -> out.add(new TableIdentity(r.table().schema(), r.table().name(),
                                id.toString())));
            }
        }
        return out;
    }

    /**
     * PostgreSQL 18 counts the changes its subscription could not apply as made (an UPDATE or DELETE of a row the
     * target lacks, a row already there): any is a divergence, which a cutover would carry onto the target.
     */
    private void refuseConflicts(MigrationId migration, String database) {
        try (Connection c = Steps.open(connector, database, TIMEOUT, true);
             PreparedStatement ps = c.prepareStatement("SELECT oid FROM pg_subscription WHERE subname = ? AND subdbid = "
                     + "(SELECT oid FROM pg_database WHERE datname = current_database())")) {
            ps.setString(1, migration.objectName());
            long oid;
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return;
                }
                oid = rs.getLong(1);
            }
            SubscriptionStats stats = SubscriptionStats.read(c, oid, connector.serverVersion(c).major());
            if (stats.diverged()) {
                List<String> objects = new ArrayList<>(stats.conflictTables());
                stats.conflicts().forEach((k, v) -> objects.add(k + "=" + v));
                throw ApiException.unprocessable("subscription_conflicts", "the subscription met changes it could "
                        + "not apply as the source made them (" + stats.conflicts() + "): the target has diverged "
                        + "from the source" + (stats.conflictTables().isEmpty() ? " (" + stats.conflictTablesUnknown()
                        + ")" : " in " + String.join(", ", stats.conflictTables())) + ". Repair the tables named "
                        + "(or copy them again), then reset the counters with SELECT "
                        + "pg_stat_reset_subscription_stats(" + oid + ") on the target", objects);
            }
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
