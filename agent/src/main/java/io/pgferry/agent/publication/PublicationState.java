package io.pgferry.agent.publication;

import io.pgferry.agent.migration.TableRef;
import java.util.List;

/** The publication as the step leaves it (or, in check mode, would leave it). */
public record PublicationState(String name, boolean exists, List<TableRef> tables, Boolean publishViaPartitionRoot,
                               List<TableRef> replicaIdentityFull) {
    /** The step's answer names it {@code publication}. */
    public record Response(PublicationState publication) {
    }
}
