package io.pgferry.agent.testbed;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Locale;
import java.util.UUID;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionConfigurationException;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.HierarchyTraversalMode;
import org.junit.platform.commons.support.ReflectionSupport;

/** See {@link PgBed}. */
public final class PgBedExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(PgBedExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws IllegalAccessException {
        Class<?> testClass = context.getRequiredTestClass();
        PgBed bed = AnnotationSupport.findAnnotation(testClass, PgBed.class)
                .orElseThrow(() -> new ExtensionConfigurationException(testClass + " needs @PgBed(major = N)"));
        // Unique per run so parallel or leftover clusters never collide.
        String name = "agent-" + testClass.getSimpleName().toLowerCase(Locale.ROOT) + "-"
                + UUID.randomUUID().toString().substring(0, 8);
        PgCluster cluster = PgCluster.create(name, bed.major());
        context.getStore(NS).put(PgCluster.class, cluster);
        for (Field f : ReflectionSupport.findFields(testClass,
                field -> field.getType() == PgCluster.class && Modifier.isStatic(field.getModifiers()),
                HierarchyTraversalMode.TOP_DOWN)) {
            f.setAccessible(true);
            f.set(null, cluster);
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        PgCluster cluster = context.getStore(NS).remove(PgCluster.class, PgCluster.class);
        if (cluster != null) {
            cluster.destroy();
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == PgCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getStore(NS).get(PgCluster.class, PgCluster.class);
    }
}
