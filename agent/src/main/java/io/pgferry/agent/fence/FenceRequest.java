package io.pgferry.agent.fence;

import io.pgferry.agent.migration.Names;

/**
 * Body of {@code PUT /v1/migrations/{m}/fence}.
 *
 * @param terminate default true: end the database's client sessions that began before the fence (they would keep
 *                  writing: the setting reaches new sessions only)
 * @param sequences default false: also read the scope's sequences, in the same session right after the fence, so the
 *                  cutover copies them without another call inside the pause (they are final: nextval is refused
 *                  in a read-only transaction, and the sessions begun before the fence are ended)
 */
public record FenceRequest(String database, Boolean terminate, Boolean sequences, Boolean check) {
    public FenceRequest {
        Names.require("database", database);
        terminate = terminate == null || terminate;
        sequences = sequences != null && sequences;
        check = check != null && check;
    }
}
