package io.pgferry.agent.stopreplication;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.migration.ApplyTriggers;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Ends a stream once its publisher is fenced and caught up: DROP SUBSCRIPTION, which also drops the slot on the
 * publisher through the subscription's connection, so no WAL is retained there for it. Then the triggers and rules
 * tempered while this server applied the stream fire as they did before ({@link ApplyTriggers}), before any client
 * writes here.
 *
 * <p>Without {@code drop} only the apply stops: {@code ALTER SUBSCRIPTION .. DISABLE} and the triggers, in one
 * transaction. The apply worker rereads its subscription before it applies another transaction, so nothing more is
 * applied here once this commits - and it does not wait for the worker to exit nor connect to the publisher, which
 * is most of a DROP's 30-70 ms. The cutover does this inside its pause and drops the subscription after the RESUME;
 * a disabled forward subscription on a fenced source is what the lifecycle reads as cut over.
 */
public final class StopReplicationService {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    /** @param triggersLeft tempered triggers changed since by someone else, left as they are */
    public record Stopped(String subscription, boolean exists, List<String> triggersLeft) {
    }

    private final PgConnector connector;
    private final Path stateDir;

    public StopReplicationService(PgConnector connector, Path stateDir) {
        this.connector = connector;
        this.stateDir = stateDir;
    }

    public StepResult<Stopped> stop(MigrationId migration, StopReplicationRequest request) {
        String name = request.stream().objectName(migration);
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Optional<Subscriptions.Subscription> subscription = Subscriptions.read(c, name);
            if (!request.drop()) {
                return stopApply(c, migration, request, name, subscription);
            }
            Plan plan = subscription.map(s -> Subscriptions.dropPlan(s, false)).orElseGet(Plan::new);
            if (!request.check()) {
                try {
                    Subscriptions.boundByPublisherTimeout(c);
                    plan.runEach(c);
                } catch (SQLException e) {
                    if (Subscriptions.publisherUnreachable(e)) {
                        throw unreachable(c, subscription.orElseThrow(), request.keepDisabled(), e);
                    }
                    throw e;
                }
            }
            List<String> queries = new ArrayList<>(plan.shown());
            List<String> left = new ArrayList<>();
            queries.addAll(new ApplyTriggers(stateDir, migration, request.database()).restore(c, request.check(),
                    left));
            return new StepResult<>(!queries.isEmpty(), request.check(), queries,
                    new Stopped(name, request.check() && !plan.isEmpty(), left));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private StepResult<Stopped> stopApply(Connection c, MigrationId migration, StopReplicationRequest request,
                                          String name, Optional<Subscriptions.Subscription> subscription)
            throws SQLException {
        Plan disable = subscription.map(Subscriptions::stopPlan).orElseGet(Plan::new);
        List<String> left = new ArrayList<>();
        List<String> queries = new ArrayList<>(new ApplyTriggers(stateDir, migration, request.database())
                .restore(c, request.check(), left, disable));
        return new StepResult<>(!queries.isEmpty(), request.check(), queries,
                new Stopped(name, subscription.isPresent(), left));
    }

    /**
     * DROP SUBSCRIPTION drops the slot through the subscription's connection; without it, the DISABLE before it has
     * committed. Unless told to keep it so, the subscription is enabled again: a failed step changes nothing, and a
     * cutover undone after this keeps its stream.
     */
    private ApiException unreachable(Connection c, Subscriptions.Subscription subscription, boolean keepDisabled,
                                     SQLException cause) {
        String name = subscription.name();
        String retry = "; bring the publisher back and retry, or run cleanup on both sides (it detaches the "
                + "subscription and drops the slot there)";
        String state;
        if (keepDisabled || !subscription.enabled()) {
            state = " is disabled";
        } else {
            try (Statement st = c.createStatement()) {
                st.execute("RESET statement_timeout");
                st.execute("ALTER SUBSCRIPTION " + Sql.ident(name) + " ENABLE");
                state = " is enabled again as it was";
            } catch (SQLException e) {
                cause.addSuppressed(e);
                state = " stays disabled (enabling it again failed: " + e.getMessage() + ")";
            }
        }
        return new ApiException(502, "publisher_unreachable", "Publisher unreachable", "subscription " + name + state
                + ": its publisher cannot be reached to drop the slot (within " + Subscriptions.PUBLISHER_TIMEOUT.toSeconds() + " s)" + retry, null, List.of(name), cause);
    }
}
