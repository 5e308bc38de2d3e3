package io.pgferry.agent.fence;

import io.pgferry.agent.migration.Names;

/**
 * Body of {@code PUT /v1/migrations/{m}/fence}.
 *
 * @param terminate default true: end the database's client sessions that began before the fence (they would keep
 *                  writing: the setting reaches new sessions only)
 */
public record FenceRequest(String database, Boolean terminate, Boolean check) {
    public FenceRequest {
        Names.require("database", database);
        terminate = terminate == null || terminate;
        check = check != null && check;
    }
}
