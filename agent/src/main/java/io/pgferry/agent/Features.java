package io.pgferry.agent;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.info.InfoService;
import io.pgferry.agent.postgres.PgConnector;
import java.util.List;

/** The migration steps the agent serves, each a feature package with its own routes. */
final class Features {
    private Features() {
    }

    static List<RouteGroup> all(AgentConfig config, PgConnector connector, InfoService info) {
        return List.of();
    }
}
