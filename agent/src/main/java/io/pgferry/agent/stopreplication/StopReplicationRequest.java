package io.pgferry.agent.stopreplication;

import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;

/**
 * Body of {@code POST /v1/migrations/{m}/stop-replication}.
 *
 * @param direction      {@code forward} (default: the target's subscription {@code pgferry_<m>}) or {@code reverse}
 *                       (the old source's {@code pgferry_<m>_reverse}, at rollback)
 * @param ifUnreachable  what a publisher that cannot be reached to drop the slot leaves: {@code restore} (default:
 *                       the subscription enabled again as it was, nothing changed) or {@code disable} (it stays
 *                       disabled: a cutover's undo, where a reverse stream must not start once the link is back)
 * @param drop           default true; false stops the apply only (DISABLE and the triggers, one transaction), and
 *                       the subscription and its slot stay for a later call to drop
 */
public record StopReplicationRequest(String database, String direction, String ifUnreachable, Boolean drop,
                                     Boolean check) {
    public StopReplicationRequest {
        Names.require("database", database);
        Direction.parse(direction);
        if (ifUnreachable == null) {
            ifUnreachable = "restore";
        } else if (!ifUnreachable.equals("restore") && !ifUnreachable.equals("disable")) {
            throw new BadRequestException("if_unreachable", "if_unreachable must be restore or disable, got "
                    + ifUnreachable);
        }
        drop = drop == null || drop;
        check = check != null && check;
    }

    Direction stream() {
        return Direction.parse(direction);
    }

    boolean keepDisabled() {
        return ifUnreachable.equals("disable");
    }
}
