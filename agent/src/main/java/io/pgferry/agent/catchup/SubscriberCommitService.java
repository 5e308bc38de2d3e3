package io.pgferry.agent.catchup;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

/**
 * Subscribing side: how the stream's subscription commits what it applies. pgferry creates it with PostgreSQL's
 * default, synchronous_commit = off, so a busy source is applied at full speed; but then the subscriber confirms a
 * change to the publisher only once its WAL writer has flushed the commit and the apply worker has woken again -
 * 200 to 600 ms of the cutover's pause spent waiting. With synchronous_commit = on for the last seconds before the
 * pause, each applied commit is flushed at once and confirmed in the same round trip. The apply worker reads the
 * setting at its next transaction, without a restart.
 */
public final class SubscriberCommitService {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    /** @param synchronousCommit the subscription's setting once the step is done (in check mode: would be) */
    public record Subscriber(String subscription, String synchronousCommit) {
    }

    public record Response(Subscriber subscriber) {
    }

    private final PgConnector connector;

    public SubscriberCommitService(PgConnector connector) {
        this.connector = connector;
    }

    /** Confirm promptly: synchronous_commit = on. */
    public StepResult<Response> prompt(MigrationId migration, SubscriberCommitRequest request) {
        return set(migration, request, "on", false);
    }

    /**
     * Back to applying at full speed: synchronous_commit = off, as the subscription was created. It runs when a
     * cutover is undone and the stream goes on, so an apply the pause stopped (stop-replication with drop false, whose
     * answer the cutover never got) is enabled again in the same transaction.
     */
    public StepResult<Response> relax(MigrationId migration, SubscriberCommitRequest request) {
        return set(migration, request, "off", true);
    }

    private StepResult<Response> set(MigrationId migration, SubscriberCommitRequest request, String value,
                                     boolean enable) {
        String name = request.stream().objectName(migration);
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Subscriptions.Subscription subscription = read(c, name, request.database());
            Plan plan = new Plan();
            if (!subscription.synchronousCommit().equals(value)) {
                plan.add("ALTER SUBSCRIPTION " + Sql.ident(name) + " SET (synchronous_commit = " + Sql.literal(value)
                        + ")");
            }
            if (enable && !subscription.enabled()) {
                plan.add("ALTER SUBSCRIPTION " + Sql.ident(name) + " ENABLE");
            }
            if (!request.check()) {
                plan.runInTransaction(c);
            }
            return plan.result(request.check(), new Response(new Subscriber(name, value)));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private static Subscriptions.Subscription read(Connection c, String name, String database) throws SQLException {
        return Subscriptions.read(c, name).orElseThrow(() -> ApiException.notFound("subscription_not_found", "database " + database
                        + " has no subscription " + name + "; nothing replicates into it"));
    }
}
