package io.pgferry.agent.cleanup;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.ReplicaIdentityChanges;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/cleanup}.
 *
 * @param keepReverse default false: keep the reverse stream (publication, subscription and slot
 *                    {@code pgferry_<m>_reverse}, the role it logs in with, the fence of the side it feeds, the
 *                    replica identities it needs, and the migration's state files)
 * @param emptyTables default false: after the subscriptions are dropped, TRUNCATE the migration's tables in this
 *                    database (the forward subscription's, and the received manifest's) - an abandoned target's
 *                    copy, so a new migration can start over. Only for a target whose clients never wrote to it:
 *                    the lifecycle (module lifecycle, {@code pgferry_cleanup_abandon}) decides that
 * @param keepState default false: keep the state directory (cleanup of the other side still needs its record of
 *                  replica identities) and the fence (a side clients left stays fenced until the other side is
 *                  cleaned); a second call without it removes both
 * @param restoreReplicaIdentity replica identity changes the other side recorded, to put back here too (the schema
 *                               archive carried them to this side)
 */
public record CleanupRequest(String database, Boolean keepReverse, Boolean emptyTables, Boolean keepState,
                             List<ReplicaIdentityChanges.Change> restoreReplicaIdentity, Boolean check) {
    public CleanupRequest {
        Names.require("database", database);
        keepReverse = keepReverse != null && keepReverse;
        emptyTables = emptyTables != null && emptyTables;
        keepState = keepState != null && keepState;
        restoreReplicaIdentity = restoreReplicaIdentity == null ? List.of() : List.copyOf(restoreReplicaIdentity);
        check = check != null && check;
    }
}
