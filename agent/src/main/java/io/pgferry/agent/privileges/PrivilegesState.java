package io.pgferry.agent.privileges;

import java.util.List;

/**
 * What the privileges step found, in the answer's {@code privileges}.
 *
 * @param objects objects of the source's scope compared
 * @param differences what differed before this call (with check: what differs now); empty when equal
 * @param missing source objects the target lacks (restored by schema apply and post-data, not by this step)
 * @param notes what was left alone on purpose
 */
public record PrivilegesState(int objects, boolean equal, List<String> differences, List<String> missing,
                              List<String> notes) {
    public record Response(PrivilegesState privileges) {
    }
}
