/**
 * The published weights, exactly: Keras 1 and keras.applications HDF5 files and torchvision/timm
 * state_dicts read into the zoo's graphs ({@link org.densenet4j.keras.KerasDenseNetImporter}), and the
 * catalog of downloadable weights with their publishers' hashes ({@link org.densenet4j.keras.PretrainedWeights}).
 */
package org.densenet4j.keras;
