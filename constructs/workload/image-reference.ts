import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

// [registry[:port]/]path[:tag][@sha256:<64 hex>] - lower-case path components as the OCI
// distribution spec requires.
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const DIGEST = /@sha256:[a-f0-9]{64}$/;

/** True when `image` is pinned by digest (`...@sha256:<64 hex>`). */
export function isPinnedByDigest(image: string): boolean {
  return DIGEST.test(image);
}

/** Throws unless `image` is an image reference. */
export function requireImageReference(scope: Construct, prop: string, image: unknown): string {
  if (typeof image !== 'string' || image.length > 512 || !IMAGE.test(image)) {
    throw new BlueprintPropError(
      scope,
      prop,
      image,
      'is not an image reference',
      'write [registry/]repository[:tag][@sha256:digest], e.g. "registry.example.com/shop/web@sha256:..."',
    );
  }
  return image;
}
