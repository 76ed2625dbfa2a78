import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { canonicalJobId } from '@menagerie/core';

/**
 * Every `:id` route parameter is a job id: checked, and lower-cased, here and
 * only here (registered globally), so that services, the database and the
 * store all see the one canonical spelling.
 */
@Injectable()
export class JobIdPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    return metadata.type === 'param' && metadata.data === 'id' ? canonicalJobId(value) : value;
  }
}
