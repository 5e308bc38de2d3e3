package io.pgferry.agent.migration;

import java.util.List;

/**
 * What every mutating step answers: whether it changed anything, the SQL it ran (or, in check mode, would
 * run) with secrets masked, and the state it leaves.
 */
public record StepResult<S>(boolean changed, boolean check, List<String> queries, S state) {
    public static final String MASK = "********";
}
