package io.pgferry.agent.sequences;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code PUT /v1/migrations/{m}/sequences}: the positions read on the other side.
 *
 * @param gap added to every position (default 0): a safety margin for values handed out after the read
 */
public record SequencesRequest(String database, List<SequenceValue> sequences, Long gap, Boolean check) {
    public SequencesRequest {
        Names.require("database", database);
        if (sequences == null) {
            throw new BadRequestException("sequences", "sequences is required: the list GET sequences answered on "
                    + "the other side");
        }
        for (int i = 0; i < sequences.size(); i++) {
            SequenceValue s = sequences.get(i);
            if (s == null || s.lastValue() == null || s.isCalled() == null) {
                throw new BadRequestException("sequences[" + i + "]", "each sequence needs schema, name, last_value "
                        + "and is_called");
            }
        }
        sequences = List.copyOf(sequences);
        gap = gap == null ? 0L : gap;
        if (gap < 0) {
            throw new BadRequestException("gap", "gap must be 0 or more");
        }
        check = check != null && check;
    }
}
