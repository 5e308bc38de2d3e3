package io.pgferry.agent.sequences;

import io.pgferry.agent.migration.Names;

/**
 * One sequence and its position.
 *
 * @param lastValue the sequence's last_value
 * @param isCalled whether last_value was handed out already (then the next value is last_value + increment)
 * @param increment read from the catalogs; ignored in requests (the target's own is used)
 * @param ownedBy {@code schema.table.column} of the serial or identity column it feeds, null when standalone
 */
public record SequenceValue(String schema, String name, Long lastValue, Boolean isCalled, Long increment,
                            String ownedBy) {
    public SequenceValue {
        Names.require("schema", schema);
        Names.require("name", name);
    }

    /** The value nextval() would return next. */
    long next(long inc) {
        return Boolean.TRUE.equals(isCalled) ? lastValue + inc : lastValue;
    }
}
