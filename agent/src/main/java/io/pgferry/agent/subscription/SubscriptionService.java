package io.pgferry.agent.subscription;

import io.pgferry.agent.catalog.Subscriptions.Subscription;
import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.migration.ApplyTriggers;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.migration.Steps;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.TargetTables;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.replicationrole.RowSecurity;
import io.pgferry.agent.sql.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Creates the subscription {@code pgferry_<m>} or brings its connection and options in line; never a second. */
public final class SubscriptionService {
    /** CREATE SUBSCRIPTION waits on the source until the slot is consistent, i.e. for running transactions. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);

    private final PgConnector connector;
    private final Path stateDir;

    public SubscriptionService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    public StepResult<SubscriptionState.Response> apply(MigrationId migration, SubscriptionRequest request) {
        String name = migration.objectName();
        SourceConnection source = request.connection();
        try (Connection c = Steps.open(connector, request.database(), TIMEOUT, false)) {
            if (request.streaming().equals("parallel") && connector.serverVersion(c).major() < 16) {
                throw ApiException.unprocessable("option_unsupported", "streaming = parallel needs PostgreSQL 16 "
                        + "or newer on the target; use streaming on", List.of("streaming"));
            }
            Optional<Subscription> existing = read(c, name);
            if (existing.isEmpty() && request.copyData()) {
                refuseRowsAlreadyThere(c, source, name);
            }
            List<String> queries = new ArrayList<>();
            if (existing.isEmpty()) {
                // Before the stream exists: the table sync's COPY and the apply worker fire what is set to fire for them.
                queries.addAll(new ApplyTriggers(stateDir, migration, request.database()).temper(c, t -> true,
                        request.check()));
            }
            Plan plan = new Plan();
            if (existing.isEmpty()) {
                String with = " PUBLICATION " + Sql.ident(name) + " WITH (slot_name = " + Sql.literal(name)
                        + (request.createSlot() ? "" : ", create_slot = false")
                        + ", copy_data = " + request.copyData() + ", binary = " + request.binary()
                        + ", streaming = " + Sql.literal(request.streaming()) + ", enabled = " + request.enabled()
                        + (runAsOwner(c) ? ", run_as_owner = true" : "") + ")";
                String create = "CREATE SUBSCRIPTION " + Sql.ident(name) + " CONNECTION ";
                plan.addSecret(create + Sql.literal(source.conninfo(false)) + with,
                        create + Sql.literal(source.conninfo(true)) + with);
            } else {
                align(plan, name, existing.get(), request);
            }
            if (!request.check()) {
                run(plan, c, source);
            }
            SubscriptionState state = new SubscriptionState(name, existing.isPresent() || !request.check(),
                    request.enabled(), List.of(name), name, request.binary(), request.streaming(),
                    source.conninfo(true));
            queries.addAll(plan.shown());
            return new StepResult<>(!queries.isEmpty(), request.check(), queries,
                    new SubscriptionState.Response(state));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * The table sync of a new subscription adds the source's rows to what its tables hold: duplicates in a table
     * without a key, a key conflict that stops the sync in one with. The preflight says so first; this is the step's
     * own refusal, for a run that skipped it (--tags subscription) or an interrupted own copy rerun with native table
     * sync. The tables are the publication's, read over the subscription's own connection.
     *
     * @throws ApiException 422 {@code target_tables_not_empty}, nothing made
     */
    private static void refuseRowsAlreadyThere(Connection c, SourceConnection source, String name)
            throws SQLException {
        List<TableRef> published = new ArrayList<>();
        Connection src;
        try {
            src = SourceSession.open(source, "pgferry_subscription");
        } catch (ApiException e) {
            // CREATE SUBSCRIPTION makes the same connection and says what is wrong with it, in its own words.
            return;
        }
        try (src; PreparedStatement st = src.prepareStatement(
                "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = ?")) {
            st.setString(1, name);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    published.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        List<TableRef> held = TargetTables.withRows(c, TargetTables.written(c, published));
        if (!held.isEmpty()) {
            List<String> named = held.stream().map(TableRef::quoted).toList();
            throw ApiException.unprocessable("target_tables_not_empty", held.size() + " tables the subscription "
                    + "would copy already hold rows on the target: " + String.join(", ", named.subList(0,
                    Math.min(20, named.size()))) + (named.size() > 20 ? ", ..." : "") + "; its table sync would add "
                    + "the source's rows to them (duplicates, or key conflicts that stop it), and pgferry never "
                    + "overwrites data. Empty them (TRUNCATE) if their rows are not needed, or migrate into another "
                    + "database; if an interrupted own copy of this migration wrote them, rerun with "
                    + "pgferry_copy_method: pgferry, which empties them and copies again", named);
        }
    }

    /**
     * From PostgreSQL 16 the apply worker writes as each table's owner, and an owner subject to its table's FORCE ROW
     * LEVEL SECURITY may not be written as (the owners moved with the schema: docs/design.md, "Owners and
     * privileges"): the stream would stop at the first change of such a table. When the database has one and the
     * agent's role (the subscription's owner) bypasses row security, the subscription applies as its owner - what
     * every subscription did before 16; only ENABLE ALWAYS / REPLICA triggers run in the apply worker at all.
     */
    private boolean runAsOwner(Connection c) throws SQLException {
        return connector.serverVersion(c).major() >= 16 && RowSecurity.anyForcedOnOwner(c)
                && RowSecurity.agentBypasses(c);
    }

    /**
     * The same rule once post-data has restored the row security of the target's tables (pg_dump puts ENABLE and FORCE
     * ROW LEVEL SECURITY in post-data, after the subscription exists): the subscription is switched to apply as its
     * owner where it now must. Changes the apply worker refused in between are retried by PostgreSQL, not lost.
     *
     * @return the statement run, if one was needed
     */
    public static Optional<String> runAsOwnerWhereNeeded(Connection c, MigrationId migration, int major)
            throws SQLException {
        if (major < 16 || !RowSecurity.anyForcedOnOwner(c) || !RowSecurity.agentBypasses(c)) {
            return Optional.empty();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT NOT subrunasowner FROM pg_catalog.pg_subscription WHERE subname = ?")) {
            ps.setString(1, migration.objectName());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    return Optional.empty();
                }
            }
        }
        String alter = "ALTER SUBSCRIPTION " + Sql.ident(migration.objectName()) + " SET (run_as_owner = true)";
        try (Statement st = c.createStatement()) {
            st.execute(alter);
        }
        return Optional.of(alter);
    }

    /**
     * Disables and drops the subscription, which also drops its slot on the source through the subscription's
     * connection. When the source cannot be reached the subscription stays (disabled) and the answer says how
     * to detach it from its slot by hand.
     */
    public StepResult<SubscriptionState.Response> drop(MigrationId migration, String database, boolean check) {
        String name = migration.objectName();
        String ident = Sql.ident(name);
        try (Connection c = Steps.open(connector, database, TIMEOUT, false)) {
            Optional<Subscription> existing = read(c, name);
            Plan plan = existing.map(s -> Subscriptions.dropPlan(s, false)).orElseGet(Plan::new);
            if (!check) {
                try {
                    plan.runEach(c);
                } catch (SQLException e) {
                    String password = existing.map(Subscription::conninfo)
                            .map(SubscriptionService::passwordOf).orElse(null);
                    ApiException unreachable = SourceFailure.unreachable(e, password, "the subscription is "
                            + "disabled but still exists. Bring the source back and retry, or detach it from its "
                            + "slot and drop it: ALTER SUBSCRIPTION " + ident + " SET (slot_name = NONE); DROP "
                            + "SUBSCRIPTION " + ident + "; then drop the slot on the source, which otherwise keeps "
                            + "WAL there without limit: SELECT pg_drop_replication_slot(" + Sql.literal(name) + ")");
                    if (unreachable != null) {
                        throw unreachable;
                    }
                    throw e;
                }
            }
            SubscriptionState state = new SubscriptionState(name, check && existing.isPresent(), null, null, null,
                    null, null, null);
            return plan.result(check, new SubscriptionState.Response(state));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * The migration's subscription in this database.
     *
     * @throws ApiException 409 when a subscription of this name lives in another database: both would use the
     *                      same slot name on the source
     */
    private static Optional<Subscription> read(Connection c, String name) throws SQLException {
        List<String> elsewhere = Subscriptions.elsewhere(c, name);
        if (!elsewhere.isEmpty()) {
            throw ApiException.conflict("subscription_conflict", "subscription " + Sql.ident(name)
                    + " exists in database " + elsewhere.get(0) + " of this server; one migration id serves one "
                    + "database (its slot name must be unique on the source): use another migration id or drop that "
                    + "subscription", List.of(elsewhere.get(0)));
        }
        return Subscriptions.read(c, name);
    }

    private static void align(Plan plan, String name, Subscription existing, SubscriptionRequest request) {
        String ident = Sql.ident(name);
        if (!name.equals(existing.slotName()) || !existing.publications().equals(List.of(name))) {
            throw ApiException.conflict("subscription_conflict", "subscription " + ident + " exists but uses slot "
                    + existing.slotName() + " and publications " + existing.publications() + ", not " + ident
                    + " for both; pgferry does not adopt it: drop it (DELETE this endpoint) and run the step again",
                    List.of(ident));
        }
        String alter = "ALTER SUBSCRIPTION " + ident;
        SourceConnection source = request.connection();
        if (!sameConnection(existing.conninfo(), source.settings())) {
            plan.addSecret(alter + " CONNECTION " + Sql.literal(source.conninfo(false)),
                    alter + " CONNECTION " + Sql.literal(source.conninfo(true)));
        }
        List<String> options = new ArrayList<>();
        if (existing.binary() != request.binary()) {
            options.add("binary = " + request.binary());
        }
        if (!existing.streaming().equals(request.streaming())) {
            options.add("streaming = " + Sql.literal(request.streaming()));
        }
        if (!options.isEmpty()) {
            plan.add(alter + " SET (" + String.join(", ", options) + ")");
        }
        if (existing.enabled() != request.enabled()) {
            plan.add(alter + (request.enabled() ? " ENABLE" : " DISABLE"));
        }
    }

    /** Unknown (unreadable or unparsable) counts as different: setting the connection again is harmless. */
    private static boolean sameConnection(String stored, Map<String, String> wanted) {
        if (stored == null) {
            return false;
        }
        try {
            return Conninfo.parse(stored).equals(wanted);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static String passwordOf(String conninfo) {
        try {
            return Conninfo.parse(conninfo).get("password");
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static void run(Plan plan, Connection c, SourceConnection source) throws SQLException {
        try {
            plan.runEach(c);
        } catch (SQLException e) {
            ApiException unreachable = SourceFailure.unreachable(e, source.password(), "check the connection's "
                    + "host, port, user and password, that the source allows the target in pg_hba.conf, and that no "
                    + "slot of this name is left on the source from an earlier subscription");
            if (unreachable != null) {
                throw unreachable;
            }
            if ("42P01".equals(e.getSQLState())) {
                String message = SourceFailure.serverMessage(e, source.password());
                throw ApiException.unprocessable("target_tables_missing", "the source publishes tables the target "
                        + "does not have (" + (message == null ? "a relation is missing" : message) + "); apply the "
                        + "schema on the target first", List.of());
            }
            throw e;
        }
    }
}
