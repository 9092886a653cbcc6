/**
 * Semantic segmentation with the zoo's FC-DenseNets on a set generated here: Fashion-MNIST items
 * on textured backgrounds ({@link org.densenet4j.examples.segmentation.SegmentationSet}), per-pixel
 * training and evaluation ({@link org.densenet4j.examples.segmentation.SegmentationTraining},
 * {@link org.densenet4j.examples.segmentation.SegmentationMetrics}), trained models read back
 * ({@link org.densenet4j.examples.segmentation.SegmentationModel}) and their masks as PNG images
 * ({@link org.densenet4j.examples.segmentation.MaskImages}).
 */
package org.densenet4j.examples.segmentation;
