package io.pgferry.agent.reversereplication;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.migration.ReplicaIdentityChanges.Identity;
import io.pgferry.agent.migration.ReplicatedRelations;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.TableIdentity;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.replicationrole.ReplicationRoleRequest;
import io.pgferry.agent.replicationrole.ReplicationRoleService;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.stopreplication.Subscriptions;
import io.pgferry.agent.subscription.SourceConnection;
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
import java.util.stream.Collectors;

/**
 * After cutover, keeps the old source current from the new primary, so a rollback loses nothing: a publication
 * of every migrated table on the new primary and a subscription on the old source with {@code copy_data = false}
 * (the two are equal at that moment: fenced and caught up) and, where the old source is 16 or newer,
 * {@code origin = none}, so changes that came from elsewhere are never sent back. The old source stays fenced for
 * clients; its apply worker writes regardless of the database's read-only default.
 */
public final class ReverseReplicationService {
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    public record Reverse(String side, String name, List<TableRef> tables, String origin, String conninfo) {
    }

    private final PgConnector connector;
    private final ReplicationRoleService roles;
    private final Path stateDir;

    public ReverseReplicationService(PgConnector connector, ReplicationRoleService roles, Path stateDir) {
        this.connector = connector;
        this.roles = roles;
        this.stateDir = stateDir;
    }

    public StepResult<Reverse> apply(MigrationId migration, ReverseReplicationRequest request) {
        String name = Direction.REVERSE.objectName(migration);
        ManifestScope scope = ManifestScope.read(stateDir, migration);
        return request.side().equals("publisher") ? publisher(migration, name, scope, request)
                : subscriber(name, request);
    }

    private StepResult<Reverse> publisher(MigrationId migration, String name, ManifestScope scope,
                                          ReverseReplicationRequest request) {
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Plan plan = new Plan();
            // First, as it may refuse: nothing is made before.
            List<ReplicaIdentityChanges.Change> changes = identities(c, scope.tables(),
                    request.replicaIdentities(), plan);
            var role = roles.apply(migration, new ReplicationRoleRequest(request.database(), request.password(),
                    scope.schemas(), List.of(), scope.tables(), List.of(), request.check()));
            List<String> queries = new ArrayList<>(role.queries());
            boolean exists;
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            if (!exists) {
                plan.add("CREATE PUBLICATION " + Sql.ident(name) + " FOR TABLE " + scope.tables().stream()
                        .map(TableRef::quoted).collect(Collectors.joining(", "))
                        + " WITH (publish_via_partition_root = true)");
            }
            if (!request.check()) {
                new ReplicaIdentityChanges(stateDir, migration).record(changes);
                plan.runInTransaction(c);
            }
            queries.addAll(plan.shown());
            return new StepResult<>(role.changed() || !plan.isEmpty(), request.check(), queries,
                    new Reverse("publisher", name, scope.tables(), null, null));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * Once published here, a table whose UPDATEs and DELETEs cannot be identified makes PostgreSQL reject them: the
     * application would break on its new primary right after the cutover. The source's identities (full, or an
     * index of the same name) are set where the target lacks them, each recorded for cleanup; a table that still has
     * none is refused before anything changes.
     */
    private static List<ReplicaIdentityChanges.Change> identities(Connection c, List<TableRef> tables,
                                                                   List<TableIdentity> wanted, Plan plan)
            throws SQLException {
        Map<TableRef, Identity> bySource = new HashMap<>();
        wanted.forEach(t -> bySource.put(t.table(), Identity.parse(t.identity())));
        List<ReplicaIdentityChanges.Change> changes = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (ReplicatedRelations.Relation r : ReplicatedRelations.read(c, tables)) {
            Identity source = bySource.get(r.table());
            Optional<Identity> now = ReplicaIdentityChanges.current(c, r.table());
            if (source != null && now.isPresent() && !now.get().equals(source) && r.kind() != 'f') {
                plan.add("ALTER TABLE " + r.table().quoted() + " REPLICA IDENTITY " + source.clause());
                changes.add(new ReplicaIdentityChanges.Change(r.table().schema(), r.table().name(),
                        now.get().toString(), source.toString()));
            } else if (source == null && r.kind() == 'r' && !r.hasReplicaIdentity()) {
                missing.add(r.describe());
            }
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

    private StepResult<Reverse> subscriber(String name, ReverseReplicationRequest request) {
        SourceConnection source = request.connection();
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            int major = connector.serverVersion(c).major();
            String origin = major >= 16 ? "none" : null;
            Plan plan = new Plan();
            if (Subscriptions.read(c, name).isEmpty()) {
                String with = " PUBLICATION " + Sql.ident(name) + " WITH (slot_name = " + Sql.literal(name)
                        + ", copy_data = false, streaming = on" + (origin == null ? "" : ", origin = none") + ")";
                String create = "CREATE SUBSCRIPTION " + Sql.ident(name) + " CONNECTION ";
                plan.addSecret(create + Sql.literal(source.conninfo(false)) + with,
                        create + Sql.literal(source.conninfo(true)) + with);
            }
            if (!request.check()) {
                plan.runEach(c);
            }
            return plan.result(request.check(), new Reverse("subscriber", name, null, origin,
                    source.conninfo(true)));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
