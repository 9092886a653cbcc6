package org.densenet4j.engine.ir;

/** One rewrite of a graph into an equivalent one (the same outputs for the same inputs and parameters). */
@FunctionalInterface
public interface Pass {

    /** The rewritten graph; {@code graph} itself when nothing applies. */
    Graph apply(Graph graph);
}
