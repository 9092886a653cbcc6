/**
 * The CPU engine: a DL4J graph compiled into a fixed sequence of oneDNN primitives for inference
 * ({@link org.densenet4j.engine.CompiledGraph}, {@link org.densenet4j.engine.ConcurrentPredictor},
 * {@link org.densenet4j.engine.BatchingPredictor}) and training ({@link org.densenet4j.engine.CompiledTrainer}),
 * configured by {@link org.densenet4j.engine.EngineOptions}. The plans and ops behind them are internal.
 */
package org.densenet4j.engine;
