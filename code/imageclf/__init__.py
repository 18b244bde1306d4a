"""Image classification for the tutorial: the code that runs inside the software container.

The stage notebooks import only this package. It never calls datalad: driving datalad from
outside is the job of the sibling package ``pipeline``.

Modules, in the order the stages use them:
    project      where the dataset root is (every notebook's setup cell)
    dataset      list images and labels, write the train/test CSVs
    images       decode images (in CSV order) into RGB arrays, once: the pixels files
    features     turn pixels into feature vectors (raw, color, hog, texture, patches, multiscale)
    patches      the learned feature kind: a k-means codebook of small patches
    multiscale   such codebooks at two scales (details and object parts), for ten classes
    classifiers  the classifiers offered and the main knob of each (standard library only)
    modeling     the model: one Pipeline of the feature extractor and a classifier
    metrics      accuracy and the richer metrics file
    plots        the figures the notebooks show
    pairing      how the handbook's scripts pair images with labels (notebooks/ten-classes)
    runtime      where a notebook ran (container, Python, package versions)
"""

__all__ = ["project", "dataset", "images", "features", "patches", "multiscale", "classifiers",
           "modeling", "metrics", "plots", "pairing", "runtime"]
