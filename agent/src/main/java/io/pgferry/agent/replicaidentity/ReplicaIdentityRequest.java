package io.pgferry.agent.replicaidentity;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableIdentity;
import java.util.List;

/**
 * Body of {@code PUT /v1/migrations/{m}/replica-identity}.
 *
 * @param replicaIdentities the source's tables whose replica identity is full or an index (the publication step and
 *                          the source's ready check answer them)
 */
public record ReplicaIdentityRequest(String database, List<TableIdentity> replicaIdentities, Boolean check) {
    public ReplicaIdentityRequest {
        Names.require("database", database);
        replicaIdentities = replicaIdentities == null ? List.of() : List.copyOf(replicaIdentities);
        check = check != null && check;
    }
}
