/**
 * The model: DenseNet graphs in DL4J's zoo API, with the layer names of the original Keras code.
 *
 * <p>{@link org.densenet4j.zoo.DenseNetConfig} is a DenseNet as data, {@link org.densenet4j.zoo.DenseNetPreset}
 * names the published ones, {@link org.densenet4j.zoo.DenseNetBuilder} turns a configuration into a
 * {@code ComputationGraph}, and {@link org.densenet4j.zoo.DenseNetZooModel} and the {@code DenseNet121}...
 * classes are DL4J {@code ZooModel}s ({@code init()}, {@code initPretrained()}). Nothing here imports the engine.
 */
package org.densenet4j.zoo;
