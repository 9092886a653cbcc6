/**
 * DenseNet as Spark ML stages: {@link org.densenet4j.spark.DenseNetFeaturizer} and
 * {@link org.densenet4j.spark.DenseNetClassifier}, the model broadcast once and run by the compiled
 * engine on each executor.
 */
package org.densenet4j.spark;
