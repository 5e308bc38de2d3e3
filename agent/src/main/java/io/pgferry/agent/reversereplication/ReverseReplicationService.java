package io.pgferry.agent.reversereplication;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.migration.ApplyTriggers;
import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.replicaidentity.ReplicaIdentityService;
import io.pgferry.agent.replicationrole.ReplicationRoleRequest;
import io.pgferry.agent.replicationrole.ReplicationRoleService;
import io.pgferry.agent.replicationrole.RowSecurity;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.subscription.SourceConnection;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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
    private final ManifestScopes scopes;

    public ReverseReplicationService(PgConnector connector, ReplicationRoleService roles, Path stateDir,
                                     ManifestScopes scopes) {
        this.connector = connector;
        this.roles = roles;
        this.stateDir = stateDir;
        this.scopes = scopes;
    }

    public StepResult<Reverse> apply(MigrationId migration, ReverseReplicationRequest request) {
        String name = Direction.REVERSE.objectName(migration);
        ManifestScope scope = scopes.read(migration);
        return request.side().equals("publisher") ? publisher(migration, name, scope, request)
                : subscriber(migration, name, scope, request);
    }

    private StepResult<Reverse> publisher(MigrationId migration, String name, ManifestScope scope,
                                          ReverseReplicationRequest request) {
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Plan plan = new Plan();
            // First, as it may refuse: nothing is made before.
            // Once published here, a table whose UPDATEs and DELETEs cannot be identified would break them on the
            // new primary: the source's identities are set, a table left without one is refused.
            List<ReplicaIdentityChanges.Change> changes = ReplicaIdentityService.plan(c, scope.tables(),
                    request.replicaIdentities(), plan, true);
            // The reverse stream copies nothing (copy_data = false): its role needs no way past row-level security.
            var role = roles.apply(migration, new ReplicationRoleRequest(request.database(), request.password(),
                    scope.schemas(), List.of(), scope.tables(), List.of(), "none", true, request.check()));
            List<String> queries = new ArrayList<>(role.queries());
            boolean exists;
            try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM pg_publication WHERE pubname = ?")) {
                ps.setString(1, name);
                try (ResultSet rs = ps.executeQuery()) {
                    exists = rs.next();
                }
            }
            // Unlogged tables (moved empty) cannot be published, here no more than on the source.
            List<TableRef> tables = UnloggedTables.logged(c, scope.tables());
            if (!exists) {
                plan.add("CREATE PUBLICATION " + Sql.ident(name) + " FOR TABLE " + tables.stream()
                        .map(TableRef::quoted).collect(Collectors.joining(", "))
                        + " WITH (publish_via_partition_root = true)");
            }
            if (!request.check()) {
                new ReplicaIdentityChanges(stateDir, migration).record(changes);
                plan.runInTransaction(c);
            }
            queries.addAll(plan.shown());
            return new StepResult<>(role.changed() || !plan.isEmpty(), request.check(), queries,
                    new Reverse("publisher", name, tables, null, null));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private StepResult<Reverse> subscriber(MigrationId migration, String name, ManifestScope scope,
                                           ReverseReplicationRequest request) {
        SourceConnection source = request.connection();
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            int major = connector.serverVersion(c).major();
            String origin = major >= 16 ? "none" : null;
            Plan plan = new Plan();
            Optional<Subscriptions.Subscription> existing = Subscriptions.read(c, name);
            if (existing.isPresent() && !existing.get().enabled()) {
                // What a cutover undone while the target was out of reach leaves. Its slot has decoded the forward
                // stream's changes since (before 16, nothing filters them by origin), so it is made again from here,
                // never enabled: DROP reaches the target to drop the old slot.
                plan.add("DROP SUBSCRIPTION " + Sql.ident(name));
            }
            List<String> queries = new ArrayList<>();
            if (existing.isEmpty() || !existing.get().enabled()) {
                // Before the stream exists: the old source's own ALWAYS and REPLICA triggers must not fire again on
                // what the new primary's triggers wrote already.
                Set<TableRef> tables = Set.copyOf(scope.tables());
                queries.addAll(new ApplyTriggers(stateDir, migration, request.database()).temper(c, tables::contains,
                        request.check()));
                String with = " PUBLICATION " + Sql.ident(name) + " WITH (slot_name = " + Sql.literal(name)
                        + ", copy_data = false, streaming = on" + (origin == null ? "" : ", origin = none")
                        + (runAsOwner(c, major, scope) ? ", run_as_owner = true" : "") + ")";
                String create = "CREATE SUBSCRIPTION " + Sql.ident(name) + " CONNECTION ";
                plan.addSecret(create + Sql.literal(source.conninfo(false)) + with,
                        create + Sql.literal(source.conninfo(true)) + with);
            }
            if (!request.check()) {
                try {
                    Subscriptions.boundByPublisherTimeout(c);
                    plan.runEach(c);
                } catch (SQLException e) {
                    if (Subscriptions.publisherUnreachable(e)) {
                        throw new ApiException(502, "publisher_unreachable", "Publisher unreachable", "subscription "
                                + name + " could not reach its publisher (the new primary) within "
                                + Subscriptions.PUBLISHER_TIMEOUT.toSeconds() + " s (SQLSTATE " + e.getSQLState()
                                + "); nothing was created. Check the network path from this server to it",
                                "connection", List.of(name), e);
                    }
                    throw e;
                }
            }
            queries.addAll(plan.shown());
            return new StepResult<>(!queries.isEmpty(), request.check(), queries, new Reverse("subscriber", name,
                    null, origin, source.conninfo(true)));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * From PostgreSQL 16 the apply worker writes as each table's owner, and an owner subject to its table's FORCE ROW
     * LEVEL SECURITY may not be written as: the reverse stream would stop at the first change of such a table. When
     * the scope has one and the agent's role (the subscription's owner) bypasses row security, the subscription
     * applies as its owner instead - what every subscription did before 16.
     */
    private static boolean runAsOwner(Connection c, int major, ManifestScope scope) throws SQLException {
        return major >= 16 && !RowSecurity.forcedOnOwner(c, scope.tables()).isEmpty() && RowSecurity.agentBypasses(c);
    }
}
