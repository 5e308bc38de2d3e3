package io.pgferry.agent.migration;

import com.fasterxml.jackson.annotation.JsonUnwrapped;
import java.util.List;

/**
 * What every mutating step answers: whether it changed anything, the SQL it ran (or, in check mode, would
 * run) with secrets masked, and the state it leaves. The state's fields are written beside the others
 * ({@code {"changed":..,"queries":[..],"publication":{..}}}), so a state is a record naming its part.
 */
public record StepResult<S>(boolean changed, boolean check, List<String> queries, @JsonUnwrapped S state) {
    public static final String MASK = "********";
}
