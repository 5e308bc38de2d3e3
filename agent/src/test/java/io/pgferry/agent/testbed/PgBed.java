package io.pgferry.agent.testbed;

import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a test class its own real PostgreSQL cluster of the given major, made by tools/pgbed before the first
 * test and destroyed after the last. The cluster is injected into static {@link PgCluster} fields and into
 * {@link PgCluster} parameters.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Inherited
@ExtendWith(PgBedExtension.class)
public @interface PgBed {
    int major();
}
