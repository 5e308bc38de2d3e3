package io.pgferry.agent.publication;

import io.pgferry.agent.migration.TableIdentity;
import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * The publication as the step leaves it (or, in check mode, would leave it).
 *
 * @param replicaIdentities the scope's relations whose replica identity is full or an index, for the target's
 *                          replica_identity step
 */
public record PublicationState(String name, boolean exists, List<TableRef> tables, Boolean publishViaPartitionRoot,
                               List<TableRef> replicaIdentityFull,
                               List<TableIdentity> replicaIdentities) {
    /** The step's answer names it {@code publication}. */
    public record Response(PublicationState publication) {
    }
}
