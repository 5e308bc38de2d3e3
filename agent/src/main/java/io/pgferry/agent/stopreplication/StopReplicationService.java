package io.pgferry.agent.stopreplication;

import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.Sessions;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

/**
 * Ends a stream once its publisher is fenced and caught up: DROP SUBSCRIPTION, which also drops the slot on the
 * publisher through the subscription's connection, so no WAL is retained there for it.
 */
public final class StopReplicationService {
    private static final Duration TIMEOUT = Duration.ofMinutes(2);

    public record Stopped(String subscription, boolean exists) {
    }

    private final PgConnector connector;

    public StopReplicationService(PgConnector connector) {
        this.connector = connector;
    }

    public StepResult<Stopped> stop(MigrationId migration, StopReplicationRequest request) {
        String name = request.stream().objectName(migration);
        try (Connection c = Sessions.writable(connector, request.database(), TIMEOUT)) {
            Plan plan = Subscriptions.dropPlan(c, name, false);
            if (!request.check()) {
                try {
                    plan.runEach(c);
                } catch (SQLException e) {
                    if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                        throw new ApiException(502, "publisher_unreachable", "Publisher unreachable", "subscription "
                                + name + " is disabled but the publisher cannot be reached to drop its slot; bring it "
                                + "back and retry, or run cleanup on both sides (it detaches and drops the slot "
                                + "there)", null, List.of(name), e);
                    }
                    throw e;
                }
            }
            return plan.result(request.check(), new Stopped(name, request.check() && !plan.isEmpty()));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }
}
