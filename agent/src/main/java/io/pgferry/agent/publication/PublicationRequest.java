package io.pgferry.agent.publication;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.migration.UnloggedTables;
import io.pgferry.agent.preflight.ReplicaIdentityIndex;
import java.util.List;

/**
 * Body of {@code PUT /v1/migrations/{m}/publication}.
 *
 * @param replicaIdentityFull tables without a primary key the operator accepts to replicate with REPLICA
 *                            IDENTITY FULL (every UPDATE and DELETE then logs the whole old row)
 * @param publishViaPartitionRoot default true: partitions replicate as their root, so the target may partition
 *                                differently
 * @param unloggedTables {@code refuse} (default) or {@code empty}: leave unlogged tables out of the publication (they
 *                       move without their rows, {@link UnloggedTables})
 */
public record PublicationRequest(String database, List<String> includeSchemas, List<String> excludeSchemas,
                                 List<TableRef> includeTables, List<TableRef> excludeTables,
                                 List<TableRef> replicaIdentityFull,
                                 List<ReplicaIdentityIndex> replicaIdentityIndex, Boolean publishViaPartitionRoot,
                                 Boolean check, String unloggedTables) {
    public PublicationRequest {
        Names.require("database", database);
        replicaIdentityFull = replicaIdentityFull == null ? List.of() : List.copyOf(replicaIdentityFull);
        replicaIdentityIndex = replicaIdentityIndex == null ? List.of() : List.copyOf(replicaIdentityIndex);
        publishViaPartitionRoot = publishViaPartitionRoot == null || publishViaPartitionRoot;
        check = check != null && check;
        unloggedTables = UnloggedTables.require(unloggedTables);
    }

    Scope scope() {
        return new Scope(includeSchemas, excludeSchemas, includeTables, excludeTables);
    }
}
