#!/usr/bin/perl
# Validates an OpenAPI 3.0 document (JSON or YAML) against the official OpenAPI 3.0 JSON schema with JSON::Validator
# (Debian libjson-validator-perl, which takes the schema from Debian's openapi-specification package, so nothing is
# fetched from the network). Also fails when a $ref does not resolve.
# Usage: openapi_validate.pl FILE
# Prints one line per error ("/json/pointer: message") and exits 1 when there are errors, 2 when the document
# cannot be loaded or a $ref cannot be resolved, 0 when it is valid.
use strict;
use warnings;
use JSON::Validator::Schema::OpenAPIv3;

die "usage: $0 FILE\n" unless @ARGV == 1;
my $file = $ARGV[0];
my $schema = eval { JSON::Validator::Schema::OpenAPIv3->new($file) };
if (!$schema) {
	print "cannot load $file: $@";
	exit 2;
}
# The validator's own checks: the document against the OpenAPI 3.0 schema, then every $ref resolved.
my @errors = eval { @{ $schema->errors } };
if ($@) {
	print "$file: $@";
	exit 2;
}
if (!@errors) {
	eval { $schema->resolve; 1 } or do {
		print "$file: $@";
		exit 2;
	};
}
print "$_\n" for @errors;
printf STDERR "%s: %s (OpenAPI 3.0 schema %s)\n", $file, @errors ? scalar(@errors) . " error(s)" : "valid",
	$schema->specification;
exit(@errors ? 1 : 0);
