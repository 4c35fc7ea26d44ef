// zod with zod-to-openapi's `.openapi()` added. zod 4 attaches methods when a schema is created, so modules whose
// schemas appear in the OpenAPI document import `z` from here rather than from 'zod'.
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

extendZodWithOpenApi(z);

export { z };
