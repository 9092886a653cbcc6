/**
 * Photos to predictions: {@link org.densenet4j.preprocess.ImageClassifier} (a model with its transform
 * and class names), ImageNet's labels and the DataVec-style normalisers.
 */
package org.densenet4j.preprocess;
